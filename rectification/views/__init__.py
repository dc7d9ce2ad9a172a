"""The ledger's pages, one module a kind: ``ledger`` (the lists, their exports, the overdue
dashboard), ``entry`` (one entry's page, its workflow moves, the 整改告知单), ``bulk`` (bulk
acceptance), ``evidence`` (the evidence files) and ``plans`` (the townships' 整改方案 and the
county's 审核备案, written through ``rectification.plans``). Reads come from ``rectification.queries``,
writes go through ``rectification.services``."""
