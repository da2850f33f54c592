"""The gallery: public models with their chosen previews, and images listed for licensing."""
