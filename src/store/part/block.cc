#include "store/part/block.h"

#include <algorithm>
#include <functional>
#include <numeric>

#include "core/record_codec.h"

namespace apitrail::part {

uint64_t Block::KeyHash(std::string_view value) { return std::hash<std::string_view>{}(value); }

void Block::ResourceKey(std::string_view name, std::string_view value, std::string* key) {
  key->assign(name).push_back('\0');
  key->append(value);
}

std::vector<uint32_t> Block::Lookup(const HashedKeys& keys, std::string_view value) {
  const uint64_t h = KeyHash(value);
  std::vector<uint32_t> out;
  for (auto it = std::lower_bound(keys.begin(), keys.end(), std::make_pair(h, uint32_t{0}));
       it != keys.end() && it->first == h; ++it) {
    out.push_back(it->second);
  }
  return out;
}

std::vector<uint32_t> Block::RecordsWith(HashedKeys Directory::*keys,
                                         std::string_view value) const {
  if (const Directory* d = directory()) return Lookup(d->*keys, value);
  std::vector<uint32_t> all(count());
  std::iota(all.begin(), all.end(), 0u);
  return all;
}

const Block::Directory* Block::directory() const {
  std::call_once(directory_once_, [this] {
    Directory d;
    for (HashedKeys* keys : {&d.ids, &d.correlation_ids, &d.trace_ids}) keys->reserve(count());
    std::string scratch, resource_key;
    RecordHead head;
    auto add = [](HashedKeys& keys, std::string_view value, uint32_t i) {
      if (!value.empty()) keys.emplace_back(KeyHash(value), i);
    };
    for (uint32_t i = 0; i < count(); ++i) {
      const std::string_view rec = record(i);
      if (rec.empty() || rec[0] == '{' || !DecodeRecordHead(rec, &head, &scratch).ok()) return;
      if (!d.subjects.empty() && d.subjects.back().end == i &&
          d.subjects.back().subject == head.subject) {
        d.subjects.back().end = i + 1;
      } else {
        d.subjects.push_back(SubjectRun{std::string(head.subject), i, i + 1});
      }
      add(d.ids, head.id, i);
      add(d.correlation_ids, head.correlation_id, i);
      add(d.trace_ids, head.trace_id, i);
      for (const auto& [name, value] : head.resources) {
        ResourceKey(name, value, &resource_key);
        d.resources.emplace_back(KeyHash(resource_key), i);
      }
    }
    std::sort(d.subjects.begin(), d.subjects.end(), [](const SubjectRun& a, const SubjectRun& b) {
      return a.subject != b.subject ? a.subject < b.subject : a.begin < b.begin;
    });
    for (HashedKeys* keys : {&d.ids, &d.correlation_ids, &d.trace_ids, &d.resources})
      std::sort(keys->begin(), keys->end());
    // A record naming one resource twice is one candidate, not two.
    d.resources.erase(std::unique(d.resources.begin(), d.resources.end()), d.resources.end());
    d.resources.shrink_to_fit();
    d.subjects.shrink_to_fit();
    directory_ = std::move(d);
    directory_ok_ = true;
  });
  return directory_ok_ ? &directory_ : nullptr;
}

}  // namespace apitrail::part
