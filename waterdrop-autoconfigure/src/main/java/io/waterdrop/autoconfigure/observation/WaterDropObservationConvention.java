package io.waterdrop.autoconfigure.observation;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;

/**
 * {@link ObservationConvention} for WaterDrop sends. Define a bean of this type to replace
 * {@link DefaultWaterDropObservationConvention} (or extend it to add key values).
 */
public interface WaterDropObservationConvention extends ObservationConvention<WaterDropSenderContext> {

	@Override
	default boolean supportsContext(Observation.Context context) {
		return context instanceof WaterDropSenderContext;
	}

}
