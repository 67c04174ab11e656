#pragma once
// What can go wrong talking to a TAXII server. Every message names the URL without credentials or
// query string, and says what the user can do. Token problems are kfc::TokenError /
// kfc::TokenRejectedError (config/token.h), thrown as they are.
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

// Transient failures (connection, timeout, 5xx, 429, unreadable page) outlasted every attempt.
class UnavailableError : public TaxiiError {
 public:
  UnavailableError(std::string url, int attempts, const std::string& message)
      : TaxiiError(std::move(url), message), attempts_(attempts) {}
  int attempts() const noexcept { return attempts_; }

 private:
  int attempts_;
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
