"""The gallery: public models with the previews their owners chose, and images listed for licensing."""
