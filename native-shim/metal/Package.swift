// swift-tools-version:5.9
// The macOS Metal executor of ferrum: a dynamic library whose @_cdecl
// functions implement native-shim/include/ferrum_shim.h.
// Built by `npm install` / `npm run build:native` on macOS:
//   swift build -c release   ->  .build/release/libferrum_metal.dylib
// Checked on Linux (type-check + build against a stand-in Metal) by
// scripts/check-swift.
import PackageDescription

let package = Package(
  name: "ferrum_metal",
  platforms: [.macOS(.v14)],
  products: [
    .library(name: "ferrum_metal", type: .dynamic, targets: ["ferrum_metal"]),
  ],
  targets: [
    .target(
      name: "ferrum_metal",
      path: "Sources/ferrum_metal",
      linkerSettings: [.linkedFramework("Metal")]
    ),
  ]
)
