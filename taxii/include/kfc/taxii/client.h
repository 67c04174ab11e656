#pragma once
// The TAXII 2.1 (and 2.0) client: discovery, API root, collections, and a streaming, fault-tolerant
// object reader. It knows nothing of OpenCTI or of the Kaspersky mapping.
//
// How the run loop reads one collection and checkpoints:
//
//   taxii::ObjectFilter filter;
//   filter.added_after = cursor;              // the checkpoint stored after the previous run
//   auto summary = client.read_objects(collection.id, filter, [&](const taxii::Page& page) {
//     for (const rapidjson::Value* object : page.objects) pipeline.push(*object);  // copy what you keep
//     pipeline.flush_and_wait_for_sink();
//     if (page.resume_after) cursor = *page.resume_after;   // safe to persist now
//     return !stop_requested;                               // false ends the read early
//   });
//
// Reading `filter.added_after = page.resume_after` later continues right after that page: nothing
// is lost; a few objects sharing the page's last `date_added` may be delivered again (harmless,
// OpenCTI upserts). The objects a Page points to live until the callback returns.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "kfc/config/clock.h"
#include "kfc/config/token.h"
#include "kfc/http/retry.h"
#include "kfc/http/transport.h"
#include "kfc/taxii/errors.h"
#include "kfc/taxii/model.h"
#include "kfc/taxii/timestamp.h"

namespace kfc::taxii {

namespace detail {
class ClientCore;
}

enum class AuthMode {
  None,
  Basic,   // Authorization: Basic base64(user:token)  (Kaspersky: user "taxii")
  Bearer,  // Authorization: Bearer <token>
  Header,  // <header_name>: <token>  (API-key servers)
};

struct Auth {
  AuthMode mode = AuthMode::None;
  std::string user = "taxii";  // Basic only
  std::string header_name{};   // Header only, e.g. "X-API-Key"
  // The credential. secret_for_request() is asked before every request: an expired token is never
  // sent (kfc::TokenError), a 401/403 answer becomes kfc::TokenRejectedError.
  TokenPtr token{};
};

// Attempts per request or page, backoff with jitter, Retry-After: the policy every HTTP client shares.
using RetryPolicy = http::RetryPolicy;

struct ClientOptions {
  // The API root URL, e.g. "https://taxii.tip.kaspersky.com/v2" (a trailing '/' is added).
  std::string api_root;
  // Discovery URL; empty: "<scheme://host>/taxii2/" (2.1) or "/taxii/" (2.0).
  std::string discovery_url;
  TaxiiVersion version = TaxiiVersion::Auto;
  Auth auth;
  // Up to 5 tries; a server's Retry-After beyond 10 minutes is waited as 10 minutes (the read goes on).
  RetryPolicy retry{.max_attempts = 5,
                    .initial_backoff = std::chrono::milliseconds{1000},
                    .max_backoff = std::chrono::milliseconds{60000},
                    .max_retry_after = std::chrono::milliseconds{600000},
                    .long_retry_after = http::LongRetryAfter::WaitTheMaximum,
                    .jitter = 0.5};
  // `limit` sent when the filter names none (0: let the server choose). With TAXII 2.0 it is the
  // Range size (default 1000 when 0).
  int page_limit = 0;
  // Consecutive `more: true` pages that bring nothing new before the read fails as stuck.
  int max_stalled_pages = 3;
  // Ids remembered at the newest page boundary timestamp (a timestamp group may span pages), so the
  // re-read after a resume drops what this read already delivered. Past it, some are delivered twice.
  std::size_t max_boundary_ids = 100000;
  // An object nested deeper than this is skipped (protects whatever walks it recursively later).
  // The whole envelope may nest as deep outside its objects.
  int max_object_depth = 64;
  // Who receives the token, for error wording ("the Kaspersky TAXII server").
  std::string server_name = "the TAXII server";
  // Config key of the response cap, named in the too-large error.
  std::string response_cap_key = "kaspersky.max_response_mb";
  // Config keys named in the other errors, so each tells the user what to change.
  std::string api_root_key = "kaspersky.api_root";        // or the discovery URL's key
  std::string collections_key = "kaspersky.collections";
  std::string attempts_key = "kaspersky.max_attempts";
  std::string page_limit_key = "kaspersky.page_limit";
  std::string tls_keys = "kaspersky.ssl_verify and kaspersky.ca_file";
  // What to do when the server wants credentials the client was given none of.
  std::string credentials_hint = "configure the token";
};

// Filters of one read (TAXII 2.1 §3.4.1). Empty lists are not sent.
struct ObjectFilter {
  // Objects added strictly after this position: a run's start, or a Page's resume_after.
  std::optional<Timestamp> added_after;
  int limit = 0;  // 0: ClientOptions::page_limit
  std::vector<std::string> types;          // match[type]
  std::vector<std::string> ids;            // match[id]
  std::vector<std::string> versions;       // match[version] ("last" by default on the server)
  std::vector<std::string> spec_versions;  // match[spec_version] (2.1 only)
};

struct ReadStats {
  std::size_t requests = 0;    // HTTP requests sent (retries included)
  std::size_t pages = 0;       // pages delivered to the callback
  std::size_t objects = 0;     // objects delivered
  std::size_t skipped = 0;     // objects dropped as malformed (logged)
  std::size_t repaired = 0;    // objects delivered with invalid Unicode or out-of-range numbers repaired (logged)
  std::size_t duplicates = 0;  // re-read objects dropped (boundary groups after a resume)
  std::size_t retries = 0;     // failed attempts that were retried
  std::size_t bytes = 0;       // response bytes received

  ReadStats& operator+=(const ReadStats& other);
};

// One page, handed to the callback before the next one is requested.
struct Page {
  std::size_t number = 0;  // 1-based within this read
  std::string url;         // redacted request URL (no query string, no credentials)
  // The page's valid objects in server order, without the objects this read already delivered at
  // the boundary timestamp (re-read after a resume). Pointers
  // into the parsed page: valid until the callback returns.
  std::vector<const rapidjson::Value*> objects;
  bool more = false;  // the server has more after this page
  std::optional<Timestamp> date_added_first;  // X-TAXII-Date-Added-First
  std::optional<Timestamp> date_added_last;   // X-TAXII-Date-Added-Last
  // Checkpoint: pass it as ObjectFilter::added_after to continue after this page without losing
  // anything. Just before date_added_last while more pages follow (a timestamp group may straddle
  // the boundary), date_added_last on the final page. Unset when the server gave no timestamps and
  // no earlier position is known (then keep your previous checkpoint).
  std::optional<Timestamp> resume_after;
  std::size_t skipped = 0;     // malformed objects dropped from this page
  std::size_t repaired = 0;    // objects of this page delivered repaired (U+FFFD for invalid Unicode, null
                               // for a number beyond a double)
  std::size_t duplicates = 0;  // re-read objects dropped from this page
};

// Return false to stop the read after this page (or throw; the exception propagates).
using PageCallback = std::function<bool(const Page& page)>;

struct ReadSummary {
  ReadStats stats;
  bool completed = false;  // false when the callback stopped the read
  std::optional<Timestamp> resume_after;  // of the last delivered page (or the filter's start)
};

class Client {
 public:
  // `transport` is used for every request (one keep-alive connection); `clock` gives token expiry
  // and backoff sleeps.
  Client(ClientOptions options, std::unique_ptr<http::Transport> transport, Clock& clock);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // GET the discovery resource. API roots are resolved to absolute URLs.
  Discovery discover();

  // GET the API root's information and settles the protocol version (detected with Auto).
  // Throws ConfigurationError when the root does not support the configured version, with the
  // reference wording "Specified API Root doesn't support version '...'".
  ApiRootInfo api_root();

  // GET <root>/collections/ (calls api_root() first when the version is not settled yet).
  std::vector<Collection> collections();

  // Reads a collection's objects page by page (see the top of this file). Transient failures are
  // retried per page with backoff; only the failing page is re-read (resuming from the last page's
  // timestamp, never by replaying a `next` token, never from page 1). HTTP 404 (Kaspersky's empty
  // window) and `{}` mean no objects. A page that keeps arriving unreadable ends the read with
  // UnreadableResponseError (the last delivered page's resume point is where to start again).
  // Throws TaxiiError subclasses, kfc::TokenError, or what the
  // callback throws. A 401 is kfc::TokenRejectedError; a 403 on the objects is one too when the
  // collection list, asked again with the same token, is refused as well, and otherwise
  // CollectionAccessDeniedError (this token cannot read this collection; read the others).
  ReadSummary read_objects(std::string_view collection_id, const ObjectFilter& filter,
                           const PageCallback& on_page);

  // The version in use (Auto until api_root() settled it).
  TaxiiVersion version() const noexcept;
  const std::string& api_root_url() const noexcept;
  // Totals over every read of this client (for metrics).
  const ReadStats& stats() const noexcept;

 private:
  std::unique_ptr<detail::ClientCore> impl_;
};

}  // namespace kfc::taxii
