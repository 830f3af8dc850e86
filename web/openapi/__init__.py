"""The OpenAPI 3.1 description of every route the app serves, built from declarative tables."""
