"""The ledger's pages, one module a kind: ``ledger`` (the lists, their exports, the overdue
dashboard), ``entry`` (one entry's page, its workflow moves, the 整改告知单), ``bulk`` (bulk
acceptance) and ``evidence`` (the evidence files). Reads come from ``rectification.queries``,
writes go through ``rectification.services``."""
