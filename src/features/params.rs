//! The settings of the learned-feature model and their checked builder.

use serde::{Deserialize, Serialize};

use super::{
    DEFAULT_FILTERS, DEFAULT_KMEANS_ITERATIONS, DEFAULT_PATCHES, DEFAULT_SEED, MAX_FILTERS,
    MAX_KMEANS_ITERATIONS, MAX_PATCHES,
};
use crate::check::int_in;
use crate::Result;

/// Checked settings of the learned-feature model. Build them with [`FeatureParams::builder`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureParams {
    filters: usize,
    patches: usize,
    kmeans_iterations: usize,
    seed: u32,
}

/// Unchecked settings; [`FeatureParamsBuilder::build`] checks them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureParamsBuilder {
    /// Filters learnt by k-means, 1..=[`MAX_FILTERS`]; default [`DEFAULT_FILTERS`]. The model
    /// has `8 x filters` features.
    pub filters: usize,
    /// Patches sampled for whitening and k-means, from `filters` to [`MAX_PATCHES`]; default
    /// [`DEFAULT_PATCHES`].
    pub patches: usize,
    /// k-means iterations, 0..=[`MAX_KMEANS_ITERATIONS`] (0 = random patches as filters);
    /// default [`DEFAULT_KMEANS_ITERATIONS`].
    pub kmeans_iterations: usize,
    /// Seed of the patch sampling, the k-means start and the folds; default [`DEFAULT_SEED`].
    pub seed: u32,
}

impl Default for FeatureParamsBuilder {
    fn default() -> Self {
        FeatureParamsBuilder {
            filters: DEFAULT_FILTERS,
            patches: DEFAULT_PATCHES,
            kmeans_iterations: DEFAULT_KMEANS_ITERATIONS,
            seed: DEFAULT_SEED,
        }
    }
}

impl FeatureParamsBuilder {
    /// Number of filters.
    pub fn filters(mut self, filters: usize) -> Self {
        self.filters = filters;
        self
    }
    /// Number of sampled patches.
    pub fn patches(mut self, patches: usize) -> Self {
        self.patches = patches;
        self
    }
    /// k-means iterations.
    pub fn kmeans_iterations(mut self, iterations: usize) -> Self {
        self.kmeans_iterations = iterations;
        self
    }
    /// Seed.
    pub fn seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }

    /// Checks every value against its documented range.
    pub fn build(self) -> Result<FeatureParams> {
        let filters = int_in(
            "filters",
            self.filters,
            1,
            MAX_FILTERS,
            "an integer from 1 to 1024",
        )?;
        let patches = int_in(
            "patches",
            self.patches,
            filters,
            MAX_PATCHES,
            "an integer from the number of filters to 200000",
        )?;
        let kmeans_iterations = int_in(
            "kmeans_iterations",
            self.kmeans_iterations,
            0,
            MAX_KMEANS_ITERATIONS,
            "an integer from 0 to 100",
        )?;
        Ok(FeatureParams {
            filters,
            patches,
            kmeans_iterations,
            seed: self.seed,
        })
    }
}

impl<'de> Deserialize<'de> for FeatureParams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        FeatureParamsBuilder::deserialize(d)?
            .build()
            .map_err(serde::de::Error::custom)
    }
}

impl FeatureParams {
    /// Starts from the documented defaults.
    pub fn builder() -> FeatureParamsBuilder {
        FeatureParamsBuilder::default()
    }
    pub fn filters(&self) -> usize {
        self.filters
    }
    pub fn patches(&self) -> usize {
        self.patches
    }
    pub fn kmeans_iterations(&self) -> usize {
        self.kmeans_iterations
    }
    pub fn seed(&self) -> u32 {
        self.seed
    }
    /// Features per image: 4 quadrants x 2 signs x filters.
    pub fn n_features(&self) -> usize {
        8 * self.filters
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn params_are_checked() {
        let b = FeatureParams::builder;
        assert!(b().build().is_ok());
        assert!(matches!(
            b().filters(0).build(),
            Err(Error::InvalidParameter {
                name: "filters",
                ..
            })
        ));
        assert!(matches!(
            b().filters(2000).build(),
            Err(Error::InvalidParameter {
                name: "filters",
                ..
            })
        ));
        assert!(matches!(
            b().patches(10).build(),
            Err(Error::InvalidParameter {
                name: "patches",
                ..
            })
        ));
        assert!(matches!(
            b().kmeans_iterations(1000).build(),
            Err(Error::InvalidParameter {
                name: "kmeans_iterations",
                ..
            })
        ));
    }
}
