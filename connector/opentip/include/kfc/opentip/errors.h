#pragma once
// What can go wrong with an OpenTIP lookup, each with a message the user can act on. A 401 is not
// here: it is kfc::TokenRejectedError (config/token.h), the wording every client shares.
#include <stdexcept>
#include <string>

#include "kfc/config/clock.h"

namespace kfc::opentip {

class OpenTipError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The value is not something OpenTIP can look up; no request was sent.
class InvalidValueError : public OpenTipError {
 public:
  using OpenTipError::OpenTipError;
};

// HTTP 400 on an IP, domain or URL: OpenTIP refused the request as invalid.
class BadRequestError : public OpenTipError {
 public:
  using OpenTipError::OpenTipError;
};

// HTTP 403: the daily quota or the request limit is exhausted. No request is sent before `until`.
class QuotaExceededError : public OpenTipError {
 public:
  QuotaExceededError(const std::string& message, SystemTime until) : OpenTipError(message), until_(until) {}
  SystemTime until() const noexcept { return until_; }

 private:
  SystemTime until_;
};

// 429 / 5xx / no answer, still so after the configured attempts (or Retry-After beyond what we wait).
class ServiceUnavailableError : public OpenTipError {
 public:
  using OpenTipError::OpenTipError;
};

// A 200 whose body is not the JSON object OpenTIP sends.
class ResponseFormatError : public OpenTipError {
 public:
  using OpenTipError::OpenTipError;
};

}  // namespace kfc::opentip
