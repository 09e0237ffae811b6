#include "store/proof_json.h"

#include "core/json_writer.h"
#include "store/checkpoint.h"
#include "store/checkpoint_log.h"
#include "store/leaf_hashes.h"
#include "store/merkle/proofs.h"

namespace apitrail {

namespace {

// The checkpoint of exactly `size` if given, else the newest; it must cover `min_size`.
Result<CheckpointRecord> PickCheckpoint(FileSystem* fs, const std::string& data,
                                        std::optional<uint64_t> size, uint64_t min_size) {
  APITRAIL_ASSIGN_OR_RETURN(CheckpointFile file, ReadCheckpoints(fs, CheckpointsPath(data)));
  if (file.checkpoints.empty()) return Status::NotFound("no signed checkpoint in " + data + " yet");
  if (size) {
    for (auto it = file.checkpoints.rbegin(); it != file.checkpoints.rend(); ++it) {
      if (it->size == *size) return *it;
    }
    return Status::NotFound("no checkpoint of tree size " + std::to_string(*size));
  }
  if (file.checkpoints.back().size < min_size) {
    // Not signed yet, or not there at all: only the log can say which, and "wait" for a
    // record that does not exist sends an operator off to wait for nothing.
    auto last = ReadLeafHashRange(fs, data, min_size - 1, min_size);
    if (last.ok() && last->empty()) {
      return Status::NotFound("the log has no record " + std::to_string(min_size - 1) +
                              " (it holds fewer than " + std::to_string(min_size) + " records)");
    }
    return Status::NotFound("the newest checkpoint covers " +
                            std::to_string(file.checkpoints.back().size) +
                            " records; wait for the next one (at most a second behind the log)");
  }
  return file.checkpoints.back();
}

// Leaf hashes 0..cp.size-1 from the segments, checked against the checkpoint's root.
Result<std::vector<Hash256>> LeavesFor(FileSystem* fs, const std::string& data,
                                       const CheckpointRecord& cp) {
  APITRAIL_ASSIGN_OR_RETURN(auto leaves, ReadLeafHashes(fs, data, cp.size));
  if (leaves.size() < cp.size) {
    return Status::Corruption("checkpoint says " + std::to_string(cp.size) + " records, log has " +
                              std::to_string(leaves.size()) + ": records were removed");
  }
  if (merkle::SubtreeRoot(leaves) != cp.checkpoint.root) {
    return Status::Corruption(
        "the log's root at tree size " + std::to_string(cp.size) +
        " differs from its signed checkpoint: records were changed (run apitrail verify)");
  }
  return leaves;
}

void WriteHashes(JsonWriter& w, const std::vector<Hash256>& hashes) {
  w.Key("hashes");
  w.BeginArray();
  for (const Hash256& h : hashes) w.String(HexEncode(h));
  w.EndArray();
}

}  // namespace

Result<std::string> InclusionProofJson(FileSystem* fs, const std::string& data, uint64_t seq,
                                       std::optional<uint64_t> size) {
  if (size && seq >= *size) return Status::InvalidArgument("seq must be below size");
  if (seq == UINT64_MAX) return Status::NotFound("no record with seq " + std::to_string(seq));  // seq + 1 wraps
  APITRAIL_ASSIGN_OR_RETURN(CheckpointRecord cp, PickCheckpoint(fs, data, size, seq + 1));
  APITRAIL_ASSIGN_OR_RETURN(std::vector<Hash256> leaves, LeavesFor(fs, data, cp));
  APITRAIL_ASSIGN_OR_RETURN(std::vector<Hash256> proof, merkle::InclusionProof(leaves, seq));
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.FieldUint("leaf_index", seq);
  w.FieldUint("tree_size", cp.size);
  w.Field("leaf_hash", HexEncode(leaves[seq]));
  WriteHashes(w, proof);
  w.Field("checkpoint", cp.note);
  w.EndObject();
  return out;
}

Result<std::string> ConsistencyProofJson(FileSystem* fs, const std::string& data, uint64_t from,
                                         std::optional<uint64_t> to) {
  if (to && from > *to) return Status::InvalidArgument("from must not exceed to");
  APITRAIL_ASSIGN_OR_RETURN(CheckpointRecord cp, PickCheckpoint(fs, data, to, from));
  APITRAIL_ASSIGN_OR_RETURN(std::vector<Hash256> leaves, LeavesFor(fs, data, cp));
  APITRAIL_ASSIGN_OR_RETURN(std::vector<Hash256> proof, merkle::ConsistencyProof(leaves, from));
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  w.FieldUint("from_size", from);
  w.FieldUint("to_size", cp.size);
  w.Field("from_root", HexEncode(merkle::SubtreeRoot(std::span(leaves).subspan(0, from))));
  w.Field("to_root", HexEncode(cp.checkpoint.root));
  WriteHashes(w, proof);
  w.Field("checkpoint", cp.note);
  w.EndObject();
  return out;
}

}  // namespace apitrail
