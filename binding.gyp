{
  "targets": [
    {
      "target_name": "flm_native",
      "sources": [
        "native/core.cc",
        "native/ops_tensor.cc",
        "native/ops_math.cc",
        "native/ops_shape.cc",
        "native/ops_nn.cc",
        "native/ops_io.cc",
        "native/ops_flops.cc",
        "native/ops_profile.cc",
        "native/attention.cc",
        "native/quick_gelu.cc",
        "native/fused.cc",
        "native/ops_dist_store.cc",
        "native/ops_dist_group.cc",
        "native/ops_dist_collectives.cc",
        "native/ops_dist_reducer.cc",
        "native/addon.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/find-libtorch.mjs --gyp=include)"
      ],
      "defines": [
        "NAPI_EXPERIMENTAL",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "<!@(node scripts/find-libtorch.mjs --gyp=defines)"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-fno-math-errno", "-fopenmp", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      # -fopenmp: at::parallel_for is inline OpenMP code compiled into the addon (the fused kernels, AdamW);
      # without it the pragma is ignored and those loops run on one thread whatever setNumThreads says
      "ldflags": ["-fopenmp"],
      "libraries": [
        "<!@(node scripts/find-libtorch.mjs --gyp=libdir)",
        "<!@(node scripts/find-libtorch.mjs --gyp=libs)"
      ]
    }
  ]
}
