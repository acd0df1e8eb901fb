"""The Black Friday calendar (seasons.calendar): part of the contract, shipped with the Spark jobs."""
