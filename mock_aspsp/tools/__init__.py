"""Around the app: the command line, the servers, the scenario watcher, the test PKI and the health probe."""
