fn main() {
    // The catalog is bundled into the binary: a changed translation must rebuild it (the
    // Slint compiler reports only the .slint files it read).
    println!("cargo:rerun-if-changed=lang/zh_CN/LC_MESSAGES/gridpad-ui.po");
    // The package's directory as this run gives it (not `env!`, which is fixed when the
    // build script is compiled: a target directory shared by two checkouts would read the
    // other checkout's catalog, or fail when it is gone).
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let config = slint_build::CompilerConfiguration::new()
        .with_bundled_translations(format!("{dir}/lang"))
        // Element ids for the UI tests (i-slint-backend-testing); costs a few bytes.
        .with_debug_info(true)
        .with_default_translation_context(slint_build::DefaultTranslationContext::None);
    slint_build::compile_with_config("ui/app.slint", config).expect("Slint build failed");
}
