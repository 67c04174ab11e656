#include "kfc/config/version.h"

namespace kfc {

std::string_view version() { return KFC_VERSION; }

}  // namespace kfc
