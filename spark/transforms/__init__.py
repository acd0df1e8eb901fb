"""Pure Spark transforms (DataFrame -> DataFrame) shared by the jobs; shipped to EMR with --py-files."""
