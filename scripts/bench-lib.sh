# Sourced by scripts/bench and scripts/bench-compare: fresh databases,
# their statistics, a free port, and stopping the server under test. The
# caller sets $work (a scratch directory) and $server (a pid, or empty).
databases=()

drop_databases() {
  for db in "${databases[@]}"; do
    case $db in
      postgresql:*) psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS ${db#*:}" ;;
      mysql:*) mysql -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS ${db#*:}" ;;
    esac
  done
  databases=()
}
stop_server() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  server=""
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# new_database BACKEND NAME: a fresh, empty database; sets $url, and
# $sa_url (SQLAlchemy's form, for upstream's server).
new_database() {
  local name="placement_bench_$$_$2"
  case $1 in
    sqlite) url="sqlite:///$work/$name.db"; sa_url="$url" ;;
    postgresql)
      psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
      url="postgresql://postgres@127.0.0.1/$name"; sa_url="postgresql+psycopg2://postgres@127.0.0.1/$name" ;;
    mysql)
      mysql -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $name; CREATE DATABASE $name"
      url="mysql://root@127.0.0.1/$name"; sa_url="mysql+pymysql://root@127.0.0.1/$name" ;;
    *) echo "unknown backend $1" >&2; exit 2 ;;
  esac
  databases+=("$1:$name")
  current="$1:$name"
}

# analyze: refresh the planner's statistics, as autovacuum does within a
# minute on a live database; a freshly filled one would otherwise be
# planned as if empty.
analyze() {
  case $current in
    postgresql:*) psql -q -h 127.0.0.1 -U postgres -d "${current#*:}" -c "ANALYZE" ;;
    mysql:*) mysql -h 127.0.0.1 -u root "${current#*:}" -e \
      "ANALYZE TABLE resource_providers, inventories, allocations, consumers, projects, users, traits, resource_provider_traits, resource_provider_aggregates" > /dev/null ;;
  esac
}
