//! gridhub inside the test's process: its HTTP router on a free port of 127.0.0.1, its
//! SQLite database and photo store on disk, the demo town seeded; and a device store
//! enrolled at it over HTTP with a one-time code. For tests that reach into the hub
//! (its photo store, its functions) while a device talks to it over real HTTP.

use gridhub::blobstore::BlobStore;
use gridpad_core::demo::DemoSpec;
use gridpad_core::Store;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The hub, served until dropped.
pub struct LoopbackHub {
    pub addr: SocketAddr,
    /// Its data directory.
    pub dir: PathBuf,
    pub hub: Arc<gridhub::Hub>,
    /// Where its photos are kept.
    pub blobs: Arc<dyn BlobStore>,
    /// The demo town's home grid (id).
    pub grid: String,
    _rt: tokio::runtime::Runtime,
}

impl LoopbackHub {
    /// Data in `dir`, the demo town `demo` seeded.
    pub fn start(dir: &Path, demo: DemoSpec) -> LoopbackHub {
        Self::start_with(dir, demo, |router| router)
    }

    /// [`LoopbackHub::start`], its router passed through `wrap` first (a middleware that
    /// counts or fails requests).
    pub fn start_with(
        dir: &Path,
        demo: DemoSpec,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> LoopbackHub {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let db = gridhub::sqlite::SqliteStore::open(dir).unwrap();
        let hub = Arc::new(gridhub::Hub::with_system_clock(Arc::new(db)));
        let blobs: Arc<dyn BlobStore> = gridhub::seals_and_photo_access::open_blobs(dir).unwrap();
        hub.attach_blobs(blobs.clone());
        let seeded = hub
            .seed_demo(&gridhub::authz::Principal::cli(), demo)
            .unwrap();
        let app = wrap(gridhub::http::router(hub.clone()));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        LoopbackHub {
            addr,
            dir: dir.to_path_buf(),
            hub,
            blobs,
            grid: seeded.home_grid_id,
            _rt: rt,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A one-time code (valid a day) for a device of `user` in the home grid, labelled
    /// `label`.
    pub fn issue_code(&self, user: &str, label: &str) -> String {
        self.hub
            .issue_code(
                &gridhub::authz::Principal::cli(),
                user,
                label,
                std::slice::from_ref(&self.grid),
                1,
            )
            .unwrap()
    }

    /// `store` enrolled here over HTTP for 网格员 in the home grid, as 测试终端.
    pub fn enroll(&self, store: &mut Store) {
        let code = self.issue_code("网格员", "测试终端");
        gridpad_sync::device::enroll(store, &self.url(), &code, "测试终端").unwrap();
    }
}
