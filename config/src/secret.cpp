#include "kfc/config/token.h"

namespace kfc {

std::string Secret::masked() const {
  // Short values would be mostly revealed by their last four characters: show nothing of them.
  constexpr std::size_t kShownTail = 4;
  constexpr std::size_t kMinLengthToShowTail = 12;
  if (value_.size() < kMinLengthToShowTail) return "****";
  return "****" + value_.substr(value_.size() - kShownTail);
}

std::ostream& operator<<(std::ostream& out, const Secret& secret) { return out << secret.masked(); }

}  // namespace kfc
