#include "auth/claim_path.h"

#include "auth/credentials.h"
#include "auth/identity.h"

namespace apitrail {
namespace json = boost::json;
namespace {

constexpr size_t kMaxNameBytes = 128;
constexpr size_t kMaxNames = 64;

bool PrintableNoSpace(std::string_view s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

const json::value* FindClaim(const json::object& claims, std::string_view name) {
  if (const json::value* v = claims.if_contains(name)) return v;
  if (name.find('.') == std::string_view::npos) return nullptr;
  const json::object* obj = &claims;
  const json::value* v = nullptr;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t end = name.find('.', pos);
    if (end == std::string_view::npos) end = name.size();
    if (obj == nullptr) return nullptr;
    v = obj->if_contains(name.substr(pos, end - pos));
    if (v == nullptr) return nullptr;
    obj = v->is_object() ? &v->get_object() : nullptr;
    pos = end + 1;
  }
  return v;
}

Result<std::vector<std::string>> ClaimNames(const json::value& v, std::string_view name) {
  std::vector<std::string> out;
  auto bad = [&] {
    return Status::InvalidArgument("token claim " + std::string(name.substr(0, 64)) +
                                   " must be a list of 1..64 names without spaces");
  };
  auto add = [&](std::string_view s) {
    if (s.empty() || s.size() > kMaxNameBytes || !PrintableNoSpace(s)) return false;
    out.emplace_back(s);
    return out.size() <= kMaxNames;
  };
  if (v.is_string()) {
    std::string_view s = v.get_string();
    size_t pos = 0;
    while (pos < s.size()) {
      size_t end = s.find(' ', pos);
      if (end == std::string_view::npos) end = s.size();
      if (end > pos && !add(s.substr(pos, end - pos))) return bad();
      pos = end + 1;
    }
    return out;
  }
  if (!v.is_array()) return bad();
  for (const auto& e : v.get_array()) {
    if (!e.is_string() || !add(e.get_string())) return bad();
  }
  return out;
}

Result<std::string> ClaimTenant(const json::value& v, std::string_view name) {
  std::string t;
  if (v.is_string()) {
    t = std::string(v.get_string());
  } else if (v.is_int64()) {
    t = std::to_string(v.get_int64());
  } else if (v.is_uint64()) {
    t = std::to_string(v.get_uint64());
  }
  bool ok = !t.empty() && t.size() <= kMaxNameBytes;
  for (unsigned char c : t) ok = ok && c >= 0x20 && c < 0x7f;
  if (!ok) {
    return Status::InvalidArgument("token claim " + std::string(name.substr(0, 64)) +
                                   " must be a tenant id of 1..128 printable characters");
  }
  return t;
}

Status ReadRolesAndTenant(const std::string& roles_claim, const std::string& tenant_claim,
                          const json::object& claims, Identity* id) {
  Status st;
  if (!roles_claim.empty()) {
    if (const json::value* v = FindClaim(claims, roles_claim)) {
      auto roles = ClaimNames(*v, roles_claim);
      if (roles.ok()) {
        id->roles = std::move(roles).value();
      } else {
        st = roles.status();
      }
    }
  }
  if (!tenant_claim.empty()) {
    const json::value* v = FindClaim(claims, tenant_claim);
    auto tenant = v ? ClaimTenant(*v, tenant_claim)
                    : Result<std::string>(Status::InvalidArgument("token has no tenant claim " +
                                                                  tenant_claim.substr(0, 64)));
    if (tenant.ok()) {
      id->tenant = std::move(tenant).value();
    } else if (st.ok()) {
      st = tenant.status();
    }
  }
  return st;
}

bool TypClaimIsNotAccessToken(const boost::json::object& claims) {
  const boost::json::value* typ = claims.if_contains("typ");
  if (typ == nullptr || !typ->is_string()) return false;
  for (std::string_view other : {"ID", "Refresh", "Offline", "Logout"}) {
    if (EqualsIgnoreCase(typ->get_string(), other)) return true;
  }
  return false;
}

}  // namespace apitrail
