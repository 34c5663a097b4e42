//! Video diffusion transformers `vdx estimate` knows, and the shape of one denoising step.

/// A DiT's architecture, as its technical report gives it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Model {
    /// Name on the command line.
    pub name: &'static str,
    /// Transformer blocks.
    pub layers: u64,
    /// Hidden size.
    pub dim: u64,
    /// Attention heads (`dim / heads` = 128 for Wan).
    pub heads: u64,
    /// Feed-forward inner size.
    pub ffn: u64,
    /// Text tokens the cross-attention reads.
    pub text_tokens: u64,
    /// Stated parameter count.
    pub params: f64,
    /// Spatial patch of the patchify (Wan: 2 × 2 latent pixels per token).
    pub patch: u64,
}

/// Wan 2.1 (Wan team, "Wan: Open and Advanced Large-Scale Video Generative Models", 2025, model
/// table): 14B and 1.3B.
pub const MODELS: &[Model] = &[
    Model {
        name: "wan-14b",
        layers: 40,
        dim: 5120,
        heads: 40,
        ffn: 13824,
        text_tokens: 512,
        params: 14e9,
        patch: 2,
    },
    Model {
        name: "wan-1.3b",
        layers: 30,
        dim: 1536,
        heads: 12,
        ffn: 8960,
        text_tokens: 512,
        params: 1.3e9,
        patch: 2,
    },
];

/// The model called `name`, or an error listing them.
pub fn model(name: &str) -> Result<Model, String> {
    MODELS.iter().find(|m| m.name == name).copied().ok_or_else(|| {
        format!(
            "--model {name}: unknown; models: {}",
            MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
        )
    })
}

/// Video resolutions: `(name, width, height)`.
pub const RESOLUTIONS: &[(&str, u64, u64)] =
    &[("480p", 832, 480), ("720p", 1280, 720), ("1080p", 1920, 1080)];

/// How one step's tokens are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Geometry {
    /// Tokens per latent frame.
    pub tokens_per_frame: u64,
    /// Latent frames.
    pub frames: u64,
}

impl Geometry {
    /// Tokens per step.
    pub fn tokens(&self) -> u64 {
        self.tokens_per_frame * self.frames
    }

    /// The article's accounting: a latent token per 8 × 8 pixels (no patchify) and a latent
    /// frame per 4 video frames: 720p, 120 frames → 14,400 × 30 = 432,000 tokens.
    pub fn article(width: u64, height: u64, video_frames: u64) -> Self {
        Geometry { tokens_per_frame: (width / 8) * (height / 8), frames: video_frames.div_ceil(4) }
    }

    /// The model's own: its patch on the 8 × 8 latent, and Wan's causal VAE's `1 + (F − 1) / 4`
    /// latent frames: 720p, 81 frames → 3,600 × 21.
    pub fn model(m: &Model, width: u64, height: u64, video_frames: u64) -> Self {
        Geometry {
            tokens_per_frame: (width / 8 / m.patch) * (height / 8 / m.patch),
            frames: 1 + video_frames.saturating_sub(1) / 4,
        }
    }
}

/// FLOP of one denoising step (one forward pass), a multiply-accumulate counted as 2.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Flops {
    /// Linear layers: self-attention Q, K, V, O; cross-attention Q, O (and K, V of the text);
    /// the feed-forward pair.
    pub linear: f64,
    /// Factored spatial attention: every frame's tokens attend to each other (QKᵀ and PV).
    pub spatial: f64,
    /// Factored temporal attention: every position attends across the frames.
    pub temporal: f64,
    /// Full 3D attention instead of the two: every token attends to every token (what Wan does).
    pub full_3d: f64,
    /// Cross-attention to the text tokens.
    pub cross: f64,
}

impl Flops {
    /// The step's FLOP for `m` on `g`.
    pub fn of(m: &Model, g: &Geometry) -> Self {
        let (n, t, d, l) = (g.tokens() as f64, g.frames as f64, m.dim as f64, m.layers as f64);
        let per_frame = g.tokens_per_frame as f64;
        let per_token = 4.0 * d * d + 2.0 * d * m.ffn as f64 + 2.0 * d * d;
        let text = 2.0 * m.text_tokens as f64 * 2.0 * d * d;
        Flops {
            linear: l * (2.0 * n * per_token + text),
            spatial: l * 4.0 * per_frame * per_frame * d * t,
            temporal: l * 4.0 * t * t * d * per_frame,
            full_3d: l * 4.0 * n * n * d,
            cross: l * 4.0 * n * m.text_tokens as f64 * d,
        }
    }

    /// Linear + factored attention + cross-attention: what a factored chip computes.
    pub fn factored(&self) -> f64 {
        self.linear + self.spatial + self.temporal + self.cross
    }
}

/// What the article states per step for Wan-14B at 720p (VDX-1 section), in FLOP.
pub const ARTICLE_STEP: [(&str, f64); 4] =
    [("linear", 28e12), ("spatial attention", 2.4e12), ("temporal attention", 0.02e12), ("total", 30.5e12)];

/// What the article's opening states for one Wan-14B forward pass at 720p, in FLOP.
pub const ARTICLE_FORWARD: f64 = 10e15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flop_counts_follow_the_design_notes_arithmetic() {
        let m = model("wan-14b").unwrap();
        let g = Geometry::article(1280, 720, 120);
        assert_eq!((g.tokens_per_frame, g.frames, g.tokens()), (14_400, 30, 432_000));
        let f = Flops::of(&m, &g);
        // 4·N²·d·frames·layers, 4·T²·d·positions·layers and 4·(N·T)²·d·layers, by hand.
        assert_eq!(f.spatial, 4.0 * 14_400f64.powi(2) * 5120.0 * 30.0 * 40.0);
        assert!((f.spatial / 5.1e15 - 1.0).abs() < 0.01, "{}", f.spatial);
        assert!((f.temporal / 0.0106e15 - 1.0).abs() < 0.01, "{}", f.temporal);
        assert!((f.full_3d / 152.9e15 - 1.0).abs() < 0.01, "{}", f.full_3d);
        // Linear layers: ~2 × parameters × tokens (the blocks hold most of the 14 B parameters).
        let rough = 2.0 * m.params * g.tokens() as f64;
        assert!(f.linear > 0.8 * rough && f.linear < rough, "{} vs {rough}", f.linear);
        let own = Geometry::model(&m, 1280, 720, 81);
        assert_eq!((own.tokens_per_frame, own.frames), (3_600, 21));
    }

    #[test]
    fn unknown_models_are_named() {
        assert!(model("sora").unwrap_err().contains("models: wan-14b, wan-1.3b"));
    }
}
