{
  # CPU-only fallback build for machines without CMake (node-gyp rebuild). The main build is
  # CMakeLists.txt (cmake-js), which also compiles the CUDA kernels when nvcc is found.
  "targets": [
    {
      "target_name": "glm_native",
      "sources": [
        "<!@(node -p \"['core','cpu','ops','binding'].flatMap(d => require('fs').readdirSync('native/' + d).filter(f => f.endsWith('.cpp')).map(f => 'native/' + d + '/' + f)).join(' ')\")"
      ],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-fno-math-errno"],
      "cflags!": ["-fno-exceptions"],
      "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES", "CLANG_CXX_LANGUAGE_STANDARD": "c++17" }
    }
  ]
}
