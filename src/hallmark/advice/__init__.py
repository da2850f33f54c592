"""Rights advice: what a person may do with an image, from Hallmark's records or others' terms."""
