"""The second engine: the manifest's features (and batch scoring) on Apache Spark.

Only this package imports pyspark (the `spark` extra, which needs Java 17); the rest of
the project never needs Java. The Spark plan is compiled from the same manifest the
single-machine engine reads (`pipelines.spark.plan`), never written twice.
"""
