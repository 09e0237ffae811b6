#include "store/part/part_values.h"

#include <algorithm>

#include "store/part/part_index.h"
#include "store/part/stream_transform.h"

namespace apitrail::part {

namespace {

constexpr uint64_t kPathField = 10;  // transform 5 stores a path as one byte
// What a counted value costs beyond its bytes: its hash node, string and count.
constexpr size_t kEntryOverhead = 64;

Status Bad(const std::string& what) { return Status::Corruption("part value table: " + what); }

size_t VarintBytes(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

}  // namespace

void PartValues::Counter::Add(std::string_view record) {
  if (offered_++ % sample_every_ != 0 || !SplitFields(record, &scratch_)) return;
  // The shape as a block's shape list stores it: length varint, then the keys.
  size_t keys = 0;
  for (const WireField& f : scratch_) keys += f.key.size();
  shape_stored_.clear();
  PutVarint(&shape_stored_, keys);
  for (const WireField& f : scratch_) shape_stored_.append(f.key.data(), f.key.size());
  Count(kShapes, shape_stored_);
  for (const WireField& f : scratch_) {
    if ((VarintValue(f.key) & 7) != 2 || f.number == kShapes || f.number > kMaxFieldNumber ||
        f.number == kPathField || IsCanonicalUuid(f.value)) {
      continue;
    }
    Count(f.number, f.value);
  }
}

void PartValues::Counter::Count(uint64_t number, std::string_view value) {
  Field& field = fields_[number];  // at most kMaxFieldNumber + 1 of them
  if (field.dropped) return;
  if (auto it = field.counts.find(value); it != field.counts.end()) {
    ++it->second;
    return;
  }
  if (field.counts.size() == kMaxValuesPerField) {
    // Mostly distinct values (ids): no table would pay. Dropping the counts keeps the
    // memory bound for the fields that stay.
    for (const auto& [v, n] : field.counts) bytes_ -= v.size() + kEntryOverhead;
    field.counts = {};
    field.dropped = true;
    return;
  }
  if (bytes_ + value.size() + kEntryOverhead > kCountBudget) return;
  field.counts.emplace(std::string(value), 1);
  bytes_ += value.size() + kEntryOverhead;
}

PartValues PartValues::Counter::Finish() && {
  std::string encoded, fields;
  size_t nfields = 0;
  for (auto& [number, field] : fields_) {
    std::vector<std::pair<uint64_t, std::string_view>> seen;
    for (const auto& [value, n] : field.counts) {
      if (n >= 2) seen.emplace_back(n, value);
    }
    if (seen.empty()) continue;
    std::sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    // Within the reader's bound, leaving room for the counts' varints.
    size_t take = 0, bytes = VarintBytes(number) + VarintBytes(seen.size());
    while (take < seen.size() &&
           fields.size() + bytes + seen[take].second.size() + 16 <= kMaxRawBytes) {
      bytes += seen[take++].second.size();
    }
    if (take == 0) break;
    PutVarint(&fields, number);
    PutVarint(&fields, take);
    for (size_t i = 0; i < take; ++i) fields.append(seen[i].second);
    ++nfields;
    if (take < seen.size()) break;  // the bound is reached
  }
  fields_.clear();
  PutVarint(&encoded, nfields);
  encoded += fields;
  fields.clear();
  fields.shrink_to_fit();
  auto decoded = Decode(std::move(encoded));
  if (!decoded.ok()) return PartValues();  // cannot happen: the loop above keeps the bounds
  PartValues table = std::move(decoded).value();
  for (const auto& [number, values] : table.fields_) {
    auto& codes = table.codes_[number];
    for (size_t i = 0; i < values.size(); ++i) codes.emplace(values[i], i + 1);
  }
  return table;
}

Result<PartValues> PartValues::Decode(std::string raw_in) {
  if (raw_in.size() > kMaxRawBytes) return Bad("too large");
  PartValues table;
  table.raw_ = std::make_shared<const std::string>(std::move(raw_in));
  const std::string& raw = *table.raw_;
  const char* p = raw.data();
  const char* end = p + raw.size();
  uint64_t nfields = 0;
  if (!GetVarint(&p, end, &nfields) || nfields > kMaxFieldNumber + 1) return Bad("bad field count");
  uint64_t prev = 0;
  for (uint64_t f = 0; f < nfields; ++f) {
    uint64_t number = 0, n = 0;
    if (!GetVarint(&p, end, &number) || (f > 0 && number <= prev) || number > kMaxFieldNumber ||
        !GetVarint(&p, end, &n) || n == 0 || n > kMaxValuesPerField ||
        n > static_cast<uint64_t>(end - p)) {
      return Bad("bad field header");
    }
    prev = number;
    std::vector<std::string_view>& values = table.fields_[number];
    values.reserve(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) {
      const char* start = p;
      uint64_t len = 0;
      if (!GetVarint(&p, end, &len) || len > static_cast<uint64_t>(end - p))
        return Bad("bad value");
      p += len;
      values.emplace_back(start, static_cast<size_t>(p - start));
    }
  }
  if (p != end) return Bad("trailing bytes");
  return table;
}

const std::string& PartValues::Encode() const {
  static const std::string kEmpty(1, '\0');  // no fields
  return raw_ ? *raw_ : kEmpty;
}

const std::vector<std::string_view>* PartValues::Field(uint64_t number) const {
  auto it = fields_.find(number);
  return it == fields_.end() ? nullptr : &it->second;
}

uint64_t PartValues::Code(uint64_t number, std::string_view value) const {
  auto f = codes_.find(number);
  if (f == codes_.end()) return 0;
  auto it = f->second.find(value);
  return it == f->second.end() ? 0 : it->second;
}

}  // namespace apitrail::part
