"""One codec per stored entity: a typed record with one decode (and encode) of its hash."""
