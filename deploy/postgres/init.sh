#!/bin/sh
# One database and one role per subgraph; each role can reach only its own database.
# Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d).
set -eu
for name in identity profiles content social media messaging; do
  password_var="AGORA_$(echo "$name" | tr a-z A-Z)_DB_PASSWORD"
  password=$(printenv "$password_var")
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE $name LOGIN PASSWORD '$password';
CREATE DATABASE $name OWNER $name;
REVOKE ALL ON DATABASE $name FROM PUBLIC;
GRANT CONNECT ON DATABASE $name TO $name;
SQL
done
