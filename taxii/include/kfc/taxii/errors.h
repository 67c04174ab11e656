#pragma once
// What can go wrong talking to a TAXII server. Every message names the URL without credentials or
// query string, and says what the user can do. Token problems are kfc::TokenError /
// kfc::TokenRejectedError (config/token.h), thrown as they are.
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace kfc::taxii {

class TaxiiError : public std::runtime_error {
 public:
  TaxiiError(std::string url, const std::string& message) : std::runtime_error(message), url_(std::move(url)) {}
  // The redacted URL of the request that failed.
  const std::string& url() const noexcept { return url_; }

 private:
  std::string url_;
};

// The server's TAXII error message (`title`, `description`, ...), or the title of an HTML page.
struct ErrorBody {
  std::string title;
  std::string description;
  std::string error_code;
};

// The server refused the request for a reason retrying cannot fix (400, 406, 413, 415, 422, ...).
class ProtocolError : public TaxiiError {
 public:
  ProtocolError(std::string url, long status, ErrorBody body, const std::string& message)
      : TaxiiError(std::move(url), message), status_(status), body_(std::move(body)) {}
  long status() const noexcept { return status_; }
  const ErrorBody& body() const noexcept { return body_; }

 private:
  long status_;
  ErrorBody body_;
};

// HTTP 403 on one collection's objects while the same token still reads the API root's collection
// list: this token may not read that collection (a feed outside the subscription, or a collection
// the server lists as can_read: false). The other collections can still be read; the token was not
// rejected. (A 403 that the collection list answers too is kfc::TokenRejectedError.)
class CollectionAccessDeniedError : public ProtocolError {
 public:
  CollectionAccessDeniedError(std::string url, std::string collection_id, ErrorBody body, const std::string& message)
      : ProtocolError(std::move(url), 403, std::move(body), message), collection_id_(std::move(collection_id)) {}
  const std::string& collection_id() const noexcept { return collection_id_; }

 private:
  std::string collection_id_;
};

// Transient failures (connection, timeout, 5xx, 429) outlasted every attempt.
class UnavailableError : public TaxiiError {
 public:
  UnavailableError(std::string url, int attempts, const std::string& message)
      : TaxiiError(std::move(url), message), attempts_(attempts) {}
  int attempts() const noexcept { return attempts_; }

 private:
  int attempts_;
};

// The server answered, every attempt, with a body that cannot be read: not JSON, broken JSON, or
// not the TAXII shape. The server is reachable; what it sends is the problem. For a page, the
// collection stops before it (its cursor does not move past it) and the next run reads from there.
class UnreadableResponseError : public TaxiiError {
 public:
  UnreadableResponseError(std::string url, int attempts, std::optional<std::size_t> offset, std::string content_type,
                          const std::string& message)
      : TaxiiError(std::move(url), message), attempts_(attempts), offset_(offset),
        content_type_(std::move(content_type)) {}
  int attempts() const noexcept { return attempts_; }
  // Where the JSON broke, when it did.
  std::optional<std::size_t> offset() const noexcept { return offset_; }
  // The server's Content-Type header ("" when it sent none).
  const std::string& content_type() const noexcept { return content_type_; }

 private:
  int attempts_;
  std::optional<std::size_t> offset_;
  std::string content_type_;
};

// A page larger than the configured response cap: an error, never an out-of-memory.
class ResponseTooLargeError : public TaxiiError {
 public:
  using TaxiiError::TaxiiError;
};

// The server keeps answering `more: true` without delivering anything new.
class StuckServerError : public TaxiiError {
 public:
  using TaxiiError::TaxiiError;
};

// The API root does not speak the TAXII version the client needs, or the server needs a login the
// client was not configured with.
class ConfigurationError : public TaxiiError {
 public:
  using TaxiiError::TaxiiError;
};

}  // namespace kfc::taxii
