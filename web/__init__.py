"""How people and tools reach Telebridge: the aiohttp app, auth, JSON API, pages, command line."""
