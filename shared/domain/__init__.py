"""The pure core: rules of the domain with no I/O (schedules, graphs, templates, policies)."""
