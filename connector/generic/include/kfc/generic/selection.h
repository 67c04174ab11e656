#pragma once
// Which collections taxii2.collections selects: entries `api_root.collection`, shell wildcards on
// both sides (`*.*` everything, `api1.*` one API root, `*.Phishing Feed`, `api1.91a7b528-*`). The
// API root side matches the last segment of the root's URL path; the collection side its id, title
// or alias. An entry is tried split at every dot, so titles (and root names) with dots work.
#include <string>
#include <string_view>
#include <vector>

#include "kfc/taxii/model.h"

namespace kfc::generic {

// The API root's name in taxii2.collections: the last segment of its URL path
// ("https://h/taxii/api1/" -> "api1"; "" for a root at the server's top).
std::string api_root_name(std::string_view root_url);

bool entry_selects(std::string_view entry, std::string_view root_name, const taxii::Collection& collection);
bool is_selected(const std::vector<std::string>& entries, std::string_view root_name,
                 const taxii::Collection& collection);

// Where a collection's cursor is kept in the connector state: "<root path>.<collection id>", e.g.
// "taxii/api1.91a7b528-…". The host is left out, so a server reached under another name (or port)
// keeps its cursors.
std::string cursor_key(std::string_view root_url, std::string_view collection_id);

}  // namespace kfc::generic
