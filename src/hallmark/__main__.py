"""`python -m hallmark` runs the same command as `hallmark`."""

from hallmark.cli import main

main()
