// A C++ program that leaks a libpqxx connection: its frames read as C++,
// with demangled names (pqxx::connection_base::init, not
// _ZN4pqxx15connection_base4initEv). Connects through the PG* environment
// variables.
#include <cstdio>

#include <pqxx/pqxx>

namespace shop {

static pqxx::connection *orders_db;

void open_orders_db() {
  orders_db = new pqxx::connection("application_name=pqxx_leak"); // pwtest:pqxx
}

}  // namespace shop

int main() {
  {
    pqxx::connection closed("application_name=pqxx_closed");
    pqxx::work tx(closed);
    tx.exec("select 1");
    tx.commit();
  }
  shop::open_orders_db();
  std::puts("pqxx_leak done");
  return 0;
}
