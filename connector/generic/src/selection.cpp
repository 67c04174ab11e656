#include "kfc/generic/selection.h"

#include "kfc/taxii/selection.h"

namespace kfc::generic {
namespace {

// The URL's path without the scheme, host, query, and without leading/trailing slashes.
std::string_view root_path(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme != std::string_view::npos) {
    const auto path = url.find('/', scheme + 3);
    url = path == std::string_view::npos ? std::string_view{} : url.substr(path);
  }
  url = url.substr(0, url.find_first_of("?#"));
  while (!url.empty() && url.front() == '/') url.remove_prefix(1);
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return url;
}

bool collection_matches(std::string_view pattern, const taxii::Collection& collection) {
  return taxii::wildcard_matches(pattern, collection.id) || taxii::wildcard_matches(pattern, collection.title) ||
         (!collection.alias.empty() && taxii::wildcard_matches(pattern, collection.alias));
}

}  // namespace

std::string api_root_name(std::string_view root_url) {
  const std::string_view path = root_path(root_url);
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

bool entry_selects(std::string_view entry, std::string_view root_name, const taxii::Collection& collection) {
  for (auto dot = entry.find('.'); dot != std::string_view::npos; dot = entry.find('.', dot + 1)) {
    if (taxii::wildcard_matches(entry.substr(0, dot), root_name) && collection_matches(entry.substr(dot + 1), collection)) {
      return true;
    }
  }
  return false;
}

bool is_selected(const std::vector<std::string>& entries, std::string_view root_name,
                 const taxii::Collection& collection) {
  for (const auto& entry : entries) {
    if (entry_selects(entry, root_name, collection)) return true;
  }
  return false;
}

std::string cursor_key(std::string_view root_url, std::string_view collection_id) {
  return std::string(root_path(root_url)) + "." + std::string(collection_id);
}

}  // namespace kfc::generic
