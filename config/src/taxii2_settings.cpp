#include "kfc/config/settings.h"

namespace kfc {

Taxii2Auth Taxii2Settings::auth() const {
  if (use_token) return Taxii2Auth::Bearer;
  if (use_apikey) return Taxii2Auth::ApiKey;
  const bool password_given = password && password->origin() != TokenOrigin::Unset;
  if (!username.empty() || password_given) return Taxii2Auth::Basic;
  return Taxii2Auth::None;
}

TokenPtr Taxii2Settings::active_secret() const {
  switch (auth()) {
    case Taxii2Auth::Bearer: return token;
    case Taxii2Auth::ApiKey: return apikey_value;
    case Taxii2Auth::Basic: return password;
    case Taxii2Auth::None: break;
  }
  return nullptr;
}

}  // namespace kfc
