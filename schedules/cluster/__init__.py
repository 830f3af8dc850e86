"""Several nodes on one database: the registry of nodes and which one owns each open room."""
