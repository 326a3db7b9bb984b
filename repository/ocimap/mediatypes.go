package ocimap

// Media types of the OCM-in-OCI mapping.
const (
	MediaTypeComponentConfig = "application/vnd.ocm.software.component.config.v1+json"
	ArtifactTypeDescriptor   = "application/vnd.ocm.software.component-descriptor.v2"

	MediaTypeDescriptorJSON    = "application/vnd.ocm.software.component-descriptor.v2+json"
	MediaTypeDescriptorYAML    = "application/vnd.ocm.software.component-descriptor.v2+yaml"
	MediaTypeDescriptorYAMLTar = "application/vnd.ocm.software.component-descriptor.v2+yaml+tar"

	legacyConfig         = "application/vnd.gardener.cloud.cnudie.component.config.v1+json"
	legacyMetadataConfig = "application/vnd.oci.gardener.cloud.cnudie.component-descriptor-metadata.config.v2+json"
	legacyDescJSON       = "application/vnd.gardener.cloud.cnudie.component-descriptor.v2+json"
	legacyDescYAML       = "application/vnd.gardener.cloud.cnudie.component-descriptor.v2+yaml"
	legacyDescYAMLTar    = "application/vnd.gardener.cloud.cnudie.component-descriptor.v2+yaml+tar"
	legacyDescConfigTar  = "application/vnd.oci.gardener.cloud.cnudie.component-descriptor.config.v2+yaml+tar"

	// AnnotationArtifact lists the OCM artifacts (kind + identity) a layer or manifest holds.
	AnnotationArtifact = "software.ocm.artifact"
	// AnnotationComponentVersion is "<component>:<version>" on descriptor manifests and indexes.
	AnnotationComponentVersion = "software.ocm.componentversion"
)

// descriptorFormat says how a descriptor layer is encoded.
type descriptorFormat int

const (
	formatUnknown descriptorFormat = iota
	formatPlain                    // JSON or YAML
	formatTar                      // a tar holding component-descriptor.yaml
)

func descriptorLayerFormat(mediaType string) descriptorFormat {
	switch mediaType {
	case MediaTypeDescriptorJSON, MediaTypeDescriptorYAML, legacyDescJSON, legacyDescYAML:
		return formatPlain
	case MediaTypeDescriptorYAMLTar, legacyDescYAMLTar, legacyDescConfigTar:
		return formatTar
	}
	return formatUnknown
}

func isComponentConfig(mediaType string) bool {
	switch mediaType {
	case MediaTypeComponentConfig, legacyConfig, legacyMetadataConfig:
		return true
	}
	return false
}
