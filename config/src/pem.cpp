#include "kfc/config/pem.h"

namespace kfc {

bool is_pem_text(std::string_view value) {
  const auto first = value.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && value.substr(first).starts_with("-----BEGIN");
}

}  // namespace kfc
