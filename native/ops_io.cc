// Guarded import of PyTorch `torch.save` files through libtorch's own unpickler.
// Pickle can run arbitrary constructors in Python; libtorch's unpickler only rebuilds tensors and
// plain containers, but the JS layer still refuses it unless the caller explicitly allows it.
// libtorch 1.13's unpickler trusts its input, so the JS layer checks every file in full before it
// gets here (src/io/torch-pickle-check.ts) and hands over the pickle bytes it checked, which are run
// instead of this side's own read of data.pkl (so the two zip readers cannot disagree about what runs).
// For the storages this side does not rely on the checks: it runs the unpickler
// with the storages' records read through a hook that remembers each record's size, never moves a
// storage to another device (nothing is read while unpickling), and checks every tensor it got back
// (storage bytes within the record read for it, view within the storage, depth of the containers)
// before any tensor is handed out, so no tensor can read past the bytes present in the file.
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/unpickler.h>

#include <cstring>
#include <limits>
#include <unordered_map>

#include "core.h"

namespace flm {

namespace {

// The file's bytes for PyTorchStreamReader (reads are clamped to the buffer).
class BufferReader final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BufferReader(std::vector<char> data) : data_(std::move(data)) {}
  size_t size() const override { return data_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= data_.size()) return 0;
    size_t k = std::min<uint64_t>(n, data_.size() - pos);
    std::memcpy(buf, data_.data() + pos, k);
    return k;
  }

 private:
  std::vector<char> data_;
};

constexpr int kMaxDepth = 64;
constexpr size_t kMaxNodes = size_t(1) << 22;

struct Flattener {
  std::vector<std::pair<std::string, at::Tensor>> out;
  size_t nodes = 0;

  void Visit(const c10::IValue& v, const std::string& prefix, int depth) {
    if (depth > kMaxDepth) throw std::runtime_error("containers nested more than 64 deep (or a cycle)");
    if (++nodes > kMaxNodes) throw std::runtime_error("more than 4194304 values");
    if (v.isTensor()) {
      out.emplace_back(prefix, v.toTensor());
      return;
    }
    if (v.isGenericDict()) {
      for (const auto& kv : v.toGenericDict()) {
        if (!kv.key().isString()) continue;
        std::string k = kv.key().toStringRef();
        Visit(kv.value(), prefix.empty() ? k : prefix + "." + k, depth + 1);
      }
      return;
    }
    if (v.isList() || v.isTuple()) {
      auto elems = v.isList() ? v.toListRef().vec() : v.toTupleRef().elements().vec();
      for (size_t i = 0; i < elems.size(); i++)
        Visit(elems[i], prefix.empty() ? std::to_string(i) : prefix + "." + std::to_string(i), depth + 1);
    }
    // other leaves (numbers, strings, None) are not tensors: ignored
  }
};

// A tensor straight out of the unpickler: its storage must lie within the record read for it and its
// view within its storage. Nothing has read its data yet.
void CheckTensor(const std::string& name, const at::Tensor& t, const std::unordered_map<const void*, size_t>& records) {
  auto fail = [&](const std::string& why) { throw std::runtime_error("tensor '" + name + "': " + why); };
  if (!t.defined()) fail("undefined");
  if (!t.device().is_cpu() || t.layout() != at::kStrided || t.is_quantized()) fail("not a dense CPU tensor");
  if (CodeFromDtype(t.scalar_type()) < 0) fail(std::string("dtype ") + c10::toString(t.scalar_type()) + " is not supported");
  const c10::Storage& st = t.storage();
  const size_t nbytes = st.nbytes();
  const void* base = st.data();
  size_t have = 0;
  if (base != nullptr) {
    auto it = records.find(base);
    if (it == records.end()) fail("its storage is not a record of the file");
    have = it->second;
  }
  if (nbytes > have) fail("its storage claims " + std::to_string(nbytes) + " bytes but its record holds " + std::to_string(have));
  const int64_t offset = t.storage_offset();
  if (offset < 0) fail("negative storage offset");
  auto sizes = t.sizes();
  auto strides = t.strides();
  if (sizes.size() != strides.size()) fail("sizes and strides differ in length");
  bool empty = false;
  unsigned __int128 last = static_cast<unsigned __int128>(offset);
  for (size_t i = 0; i < sizes.size(); i++) {
    if (sizes[i] < 0 || strides[i] < 0) fail("negative size or stride");
    if (sizes[i] == 0) empty = true;
    else last += static_cast<unsigned __int128>(sizes[i] - 1) * static_cast<unsigned __int128>(strides[i]);
    if (last > std::numeric_limits<uint64_t>::max()) fail("its view reaches past any storage");  // no overflow below
  }
  const unsigned __int128 item = t.element_size();
  const unsigned __int128 end = empty ? static_cast<unsigned __int128>(offset) * item : (last + 1) * item;
  if (end > nbytes) fail("its view (offset, sizes, strides) reaches past its storage of " + std::to_string(nbytes) + " bytes");
}

}  // namespace

// pickleLoad(buffer[, pickle]) -> [[name, tensor], ...] (nested dicts flattened with dots). `pickle`:
// the bytes of data.pkl as the JS checks read and checked them, run instead of the archive's own
// record, so the unpickler runs exactly what was checked whatever the two zip readers make of the file.
FLM_FN(PickleLoad) {
  FLM_OP("pickleLoad")
  auto bytesOf = [&](int i) -> std::vector<char> {
    if (!info[i].IsBuffer() && !info[i].IsTypedArray()) ThrowArg(kOp, "argument " + std::to_string(i) + " must be a Buffer");
    auto ta = info[i].As<Napi::TypedArray>();
    const char* p = static_cast<const char*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
    return std::vector<char>(p, p + ta.ByteLength());
  };
  caffe2::serialize::PyTorchStreamReader reader(std::make_shared<BufferReader>(bytesOf(0)));
  // what torch::jit::pickle_load does (readArchiveAndTensors("data", "", "")), with the record sizes kept
  std::vector<char> checked;
  at::DataPtr pkl;
  size_t pklSize = 0;
  const char* pklData = nullptr;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    checked = bytesOf(1);
    pklData = checked.data();
    pklSize = checked.size();
  } else {
    std::tie(pkl, pklSize) = reader.getRecord("data.pkl");
    pklData = static_cast<const char*>(pkl.get());
  }
  size_t pos = 0;
  auto readPickle = [&](char* buf, size_t len) -> size_t {
    if (pos >= pklSize) return 0;
    len = std::min(pklSize - pos, len);
    std::memcpy(buf, pklData + pos, len);
    pos += len;
    return len;
  };
  std::unordered_map<const void*, size_t> records;  // live record buffers -> their sizes
  auto readRecord = [&](const std::string& key) -> at::DataPtr {
    at::DataPtr ptr;
    size_t size = 0;
    std::tie(ptr, size) = reader.getRecord("data/" + key);
    if (ptr.get() != nullptr) records[ptr.get()] = size;
    return ptr;
  };
  // no type resolver: any global but the tensor / container ones is an error, so no code runs; the
  // device override keeps every storage on the CPU (a cuda storage is not copied, hence not read)
  torch::jit::Unpickler unpickler(readPickle, /*type_resolver=*/nullptr, /*obj_loader=*/nullptr, readRecord, at::Device(at::kCPU));
  unpickler.set_version(reader.version());
  c10::IValue v = unpickler.parse_ivalue();
  Flattener f;
  f.Visit(v, "", 0);
  for (const auto& [name, t] : f.out) CheckTensor(name, t, records);
  auto out = Napi::Array::New(info.Env());
  uint32_t n = 0;
  for (const auto& [name, t] : f.out) {
    auto pair = Napi::Array::New(info.Env(), 2);
    pair.Set(0u, Napi::String::New(info.Env(), name));
    pair.Set(1u, Wrap(info.Env(), t));
    out.Set(n++, pair);
  }
  return out;
  FLM_END
}

// pickleSave(names[], tensors[]) -> Buffer in torch.save's zip format (a dict of tensors)
FLM_FN(PickleSave) {
  FLM_OP("pickleSave")
  if (!info[0].IsArray()) ThrowArg(kOp, "argument 0 must be an array of names");
  auto names = info[0].As<Napi::Array>();
  auto ts = TList(info, 1, kOp);
  if (names.Length() != ts.size()) ThrowArg(kOp, "names and tensors differ in length");
  c10::Dict<std::string, at::Tensor> d;
  for (uint32_t i = 0; i < names.Length(); i++) {
    Napi::Value nv = names.Get(i);
    if (!nv.IsString()) ThrowArg(kOp, "names must be strings");
    d.insert(nv.As<Napi::String>().Utf8Value(), ts[i].detach());
  }
  std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(d));
  return Napi::Buffer<char>::Copy(info.Env(), bytes.data(), bytes.size());
  FLM_END
}

}  // namespace flm
