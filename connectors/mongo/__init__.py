"""The MongoDB connector: collections and views as datasets, their schema inferred from a bounded sample."""

from connectors.mongo.connector import MongoConnector

__all__ = ["MongoConnector"]
