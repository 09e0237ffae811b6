#include "store/part/wire_fields.h"

namespace apitrail::part {

size_t VarintLength(std::string_view s) {
  for (size_t i = 0; i < s.size() && i < 10; ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0x80) == 0) return i + 1;
  }
  return 0;
}

uint64_t VarintValue(std::string_view raw) {
  uint64_t v = 0;
  for (size_t i = 0; i < raw.size(); ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(raw[i]) & 0x7f) << (7 * i);
  return v;
}

bool SplitFields(std::string_view rec, std::vector<WireField>* out) {
  out->clear();
  if (rec.empty()) return false;
  while (!rec.empty()) {
    const size_t kl = VarintLength(rec);
    if (kl == 0) return false;
    const std::string_view key = rec.substr(0, kl);
    const uint64_t k = VarintValue(key);
    rec.remove_prefix(kl);
    size_t vl = 0;
    switch (k & 7) {
      case 0:
        vl = VarintLength(rec);
        break;
      case 1:
        vl = rec.size() >= 8 ? 8 : 0;
        break;
      case 5:
        vl = rec.size() >= 4 ? 4 : 0;
        break;
      case 2: {
        const size_t ll = VarintLength(rec);
        if (ll == 0) return false;
        const uint64_t len = VarintValue(rec.substr(0, ll));
        if (len > rec.size() - ll) return false;
        vl = ll + static_cast<size_t>(len);
        break;
      }
      default:
        return false;
    }
    if (vl == 0) return false;
    out->push_back({key, k >> 3, rec.substr(0, vl)});
    rec.remove_prefix(vl);
  }
  return true;
}

}  // namespace apitrail::part
