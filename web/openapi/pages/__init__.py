"""The HTML pages' rows of the OpenAPI description, one module per kind of page;
web/openapi/page_table.py puts them together in the document's order."""
