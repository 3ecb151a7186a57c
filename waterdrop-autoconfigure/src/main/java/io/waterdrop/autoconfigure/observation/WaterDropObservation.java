package io.waterdrop.autoconfigure.observation;

import io.micrometer.common.docs.KeyName;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationConvention;
import io.micrometer.observation.docs.ObservationDocumentation;

import org.springframework.kafka.support.micrometer.KafkaTemplateObservation.TemplateLowCardinalityTags;

/** The observation of WaterDrop sends, documented as Micrometer documents observations. */
public enum WaterDropObservation implements ObservationDocumentation {

	/** One message, from its send to the dispatch of its delivery report (or its refusal by Kafka). */
	SEND {

		@Override
		public String getName() {
			return "waterdrop.send";
		}

		@Override
		public Class<? extends ObservationConvention<? extends Observation.Context>> getDefaultConvention() {
			return DefaultWaterDropObservationConvention.class;
		}

		@Override
		public KeyName[] getLowCardinalityKeyNames() {
			return KeyName.merge(TemplateLowCardinalityTags.values(), WaterDropLowCardinalityTags.values());
		}

	};

	/** The key names WaterDrop adds to those of spring-kafka's template observation. */
	public enum WaterDropLowCardinalityTags implements KeyName {

		/** Name of the WaterDrop producer. */
		PRODUCER {

			@Override
			public String asString() {
				return "waterdrop.producer";
			}

		},

		/** Name of the Poller (fd mode) or dispatch thread (thread mode) serving the producer. */
		POLLER {

			@Override
			public String asString() {
				return "waterdrop.poller";
			}

		}

	}

}
