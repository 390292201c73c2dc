-- Schema version 3: Chinese search.
-- Names and addresses are indexed one character per token ("王 芳 华"), so any fragment —
-- one character, two, or more — is an FTS5 phrase query answered from the index, with
-- keyset paging by rowid. (FTS5's trigram tokenizer cannot match 1–2 character queries.)
-- The tables are contentless: the store writes them in the same transaction as the rows.

CREATE VIRTUAL TABLE person_fts USING fts5(name, addr, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE house_fts USING fts5(addr, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE organisation_fts USING fts5(name, addr, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 0');
-- The backfill of rows written under earlier versions is done by the store in Rust
-- right after this script (it needs the character spacing function).
