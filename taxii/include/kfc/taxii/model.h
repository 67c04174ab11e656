#pragma once
// What a TAXII server describes about itself: discovery, API roots, collections.
#include <optional>
#include <string>
#include <vector>

namespace kfc::taxii {

enum class TaxiiVersion {
  Auto,  // ask the API root with 2.1 first, fall back to 2.0 when the server only speaks 2.0
  V21,
  V20,
};

struct Discovery {
  std::string title{};
  std::string description{};
  std::string contact{};
  std::string default_root{};            // absolute URL (resolved), empty when not given
  std::vector<std::string> api_roots{};  // absolute URLs, each ending in '/'
};

struct ApiRootInfo {
  std::string url{};  // absolute, ending in '/'
  std::string title{};
  std::string description{};
  std::vector<std::string> versions{};  // as the server wrote them
  std::optional<long long> max_content_length{};
  TaxiiVersion version = TaxiiVersion::V21;  // the protocol the client speaks with this root
};

struct Collection {
  std::string id{};
  std::string title{};
  std::string description{};
  std::string alias{};
  bool can_read = false;
  bool can_write = false;
  std::vector<std::string> media_types{};
};

}  // namespace kfc::taxii
