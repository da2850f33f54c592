"""Jobs: training and generation run on a Huey queue, tracked in a table the web and CLI read."""
