-- Run once, when the postgres service's volume is new: a database for each app.
CREATE DATABASE aiohttp;
CREATE DATABASE django;
