-- PostgreSQL's text columns now compare as bytes (see postgres/0003_byte_order.sql);
-- SQLite's BINARY collation always did, so there is nothing to change here.
SELECT 1;
