#pragma once
// The client's state shared by the resource requests (client.cpp) and the object readers
// (object_reader.cpp).
#include <memory>
#include <string>

#include "exchange.h"
#include "json_page.h"
#include "kfc/taxii/client.h"

namespace kfc::taxii {

namespace media {
inline constexpr std::string_view kTaxii21 = "application/taxii+json;version=2.1";
inline constexpr std::string_view kTaxii20 = "application/vnd.oasis.taxii+json; version=2.0";
inline constexpr std::string_view kStix20 = "application/vnd.oasis.stix+json; version=2.0";
}  // namespace media

namespace detail {
class ClientCore {
 public:
  ClientCore(ClientOptions options, std::unique_ptr<http::Transport> transport, Clock& clock);

  Discovery discover();
  ApiRootInfo api_root();
  std::vector<Collection> collections();
  ReadSummary read_objects(std::string_view collection_id, const ObjectFilter& filter, const PageCallback& on_page);

  // GET a TAXII resource (not a page), with retries; a 404 is a ProtocolError naming the URL.
  std::unique_ptr<detail::JsonBody> get_resource(const std::string& url, std::string_view accept);
  void settle_version();
  // After a 403 (with a token) on a collection's objects: asks the collection list again with the
  // same token. Throws CollectionAccessDeniedError when the list is still served (only this
  // collection is refused), whatever the list request throws (TokenRejectedError when the token
  // itself is refused); returns when it cannot tell, so the caller rethrows the original error.
  void explain_forbidden(std::string_view collection_id, const std::string& objects_url);
  std::string_view resource_media_type() const;

  ClientOptions options;
  std::unique_ptr<http::Transport> transport;
  Clock& clock;
  detail::Exchange exchange;
  std::string root_url;  // ends in '/'
  TaxiiVersion version;
  ReadStats totals;
};
}  // namespace detail

ReadSummary read_objects_v21(detail::ClientCore& client, std::string_view collection_id, const std::string& objects_url,
                             const ObjectFilter& filter, const PageCallback& on_page);
ReadSummary read_objects_v20(detail::ClientCore& client, std::string_view collection_id, const std::string& objects_url,
                             const ObjectFilter& filter, const PageCallback& on_page);

}  // namespace kfc::taxii
