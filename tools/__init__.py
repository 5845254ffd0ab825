"""Project tools (conformance runs, the matrix, the test and benchmark servers)."""
