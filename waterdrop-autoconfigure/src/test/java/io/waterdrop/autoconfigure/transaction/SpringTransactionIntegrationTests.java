package io.waterdrop.autoconfigure.transaction;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.DataSourceTransactionManagerAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.transaction.autoconfigure.TransactionAutoConfiguration;
import org.springframework.boot.transaction.autoconfigure.TransactionManagerCustomizationAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.support.JdbcTransactionManager;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionDefinition;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

import io.waterdrop.Message;
import io.waterdrop.Producer;
import io.waterdrop.TransactionFailedException;
import io.waterdrop.TransactionalPool;
import io.waterdrop.autoconfigure.TestBroker;
import io.waterdrop.autoconfigure.TopicReader;
import io.waterdrop.autoconfigure.WaterDropAutoConfiguration;
import io.waterdrop.autoconfigure.WaterDropProducerCustomizer;
import io.waterdrop.autoconfigure.lifecycle.WaterDropLifecycleAutoConfiguration;
import io.waterdrop.instrumentation.ProducerEvent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * Spring-managed transactions with the real broker and an H2 database: a produce inside a
 * {@code @Transactional} method joins a Kafka transaction committed after the database commit and aborted
 * on rollback; {@code @Transactional("<producer>TransactionManager")} runs Kafka alone.
 */
@Timeout(120)
class SpringTransactionIntegrationTests {

	private static final Map<String, Object> READ_COMMITTED = Map.of("isolation.level", "read_committed");

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
				DataSourceTransactionManagerAutoConfiguration.class, JdbcTemplateAutoConfiguration.class,
				TransactionAutoConfiguration.class, TransactionManagerCustomizationAutoConfiguration.class,
				KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
				WaterDropLifecycleAutoConfiguration.class))
		.withUserConfiguration(Orders.class)
		.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
				"spring.datasource.generate-unique-name=true",
				"waterdrop.producers.payments.kafka.transactional.id=payments-" + UUID.randomUUID());

	@Test
	void kafkaCommitsAfterTheDatabaseCommitted() {
		String topic = TopicReader.uniqueTopic("synchronized");
		this.runner.run((context) -> {
			OrderService service = context.getBean(OrderService.class);
			List<String> steps = service.steps();
			context.getBean("payments", Producer.class).monitor().subscribe(ProducerEvent.TransactionCommitted.class,
					(event) -> steps.add("kafka committed"));

			service.place(topic, "o-1", false);

			assertThat(steps).containsExactly("row inserted", "kafka transaction open", "database committed",
					"kafka committed");
			assertThat(service.count("o-1")).isOne();
			List<ConsumerRecord<byte[], byte[]>> records = TopicReader.read(topic, 2, READ_COMMITTED,
					new ByteArrayDeserializer());
			assertThat(records).extracting((record) -> text(record.value()))
				.containsExactly("o-1 placed", "o-1 invoiced");
		});
	}

	@Test
	void aRollbackAbortsTheKafkaTransaction() {
		String topic = TopicReader.uniqueTopic("rolled-back");
		this.runner.run((context) -> {
			OrderService service = context.getBean(OrderService.class);
			Producer payments = context.getBean("payments", Producer.class);

			assertThatExceptionOfType(IllegalStateException.class).isThrownBy(() -> service.place(topic, "o-2", true));
			payments.produceSync(Message.of(topic, "after the rollback"));

			assertThat(service.count("o-2")).isZero();
			assertThat(payments.inTransaction()).isFalse();
			// The acknowledged message was written and then aborted: a read_committed consumer never sees it
			// (the one still in flight at the abort was purged, never written).
			assertThat(text(TopicReader.read(topic, 1).get(0).value())).isEqualTo("o-2 placed");
			assertThat(TopicReader.read(topic, 1, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("after the rollback");
		});
	}

	@Test
	void aKafkaCommitFailingAfterTheDatabaseCommitIsThrownToTheCallerAndTheDatabaseStaysCommitted() {
		MockProducer<byte[], byte[]> kafka = new MockProducer<>(true, null, new ByteArraySerializer(),
				new ByteArraySerializer());
		this.runner
			.withBean(WaterDropProducerCustomizer.class, () -> (name, builder) -> builder.clientFactory((settings) -> kafka))
			.run((context) -> {
				OrderService service = context.getBean(OrderService.class);
				Producer payments = context.getBean("payments", Producer.class);
				kafka.commitTransactionException = new KafkaException("coordinator gone (simulated)");

				assertThatExceptionOfType(TransactionFailedException.class)
					.isThrownBy(() -> service.place("orders", "o-3", false))
					.withMessageContaining("could not be committed and was rolled back");

				assertThat(service.count("o-3")).isOne();
				assertThat(kafka.transactionAborted()).isTrue();
				assertThat(kafka.history()).isEmpty();
				assertThat(payments.inTransaction()).isFalse();
				// The producer goes on.
				kafka.commitTransactionException = null;
				service.place("orders", "o-4", false);
				assertThat(kafka.history()).hasSize(2);
			});
	}

	@Test
	void aTransactionManagerPerTransactionalProducerForKafkaAlone() {
		String topic = TopicReader.uniqueTopic("kafka-only");
		this.runner.run((context) -> {
			KafkaOnly kafkaOnly = context.getBean(KafkaOnly.class);

			kafkaOnly.send(topic, "first", "second");
			assertThatExceptionOfType(IllegalArgumentException.class)
				.isThrownBy(() -> kafkaOnly.sendThenFail(topic, "dropped"));
			kafkaOnly.send(topic, "third");

			assertThat(TopicReader.read(topic, 3, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("first", "second", "third");
			assertThat(context.getBean("paymentsTransactionManager")).isInstanceOf(WaterDropTransactionManager.class);
			// Not a default candidate: Boot's JDBC transaction manager is still defined and still the default.
			assertThat(context.getBean(PlatformTransactionManager.class)).isInstanceOf(JdbcTransactionManager.class);
		});
	}

	@Test
	void theKafkaTransactionManagerJoinsAKafkaTransactionSynchronizedWithTheDatabase() {
		String topic = TopicReader.uniqueTopic("joined");
		this.runner.run((context) -> {
			OrderService service = context.getBean(OrderService.class);

			service.placeAndNotify(topic, "o-5");

			assertThat(service.count("o-5")).isOne();
			assertThat(TopicReader.read(topic, 3, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("o-5 placed", "o-5 invoiced", "o-5 notified");
		});
	}

	@Test
	void aNewKafkaTransactionWhileTheProducersIsOpenIsRefusedAndTheOuterOneGoesOn() {
		String topic = TopicReader.uniqueTopic("requires-new");
		this.runner.run((context) -> {
			PlatformTransactionManager kafkaOnly = context.getBean("paymentsTransactionManager",
					PlatformTransactionManager.class);
			Producer payments = context.getBean("payments", Producer.class);
			TransactionTemplate outer = new TransactionTemplate(kafkaOnly);
			TransactionTemplate inner = new TransactionTemplate(kafkaOnly);
			inner.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);

			outer.executeWithoutResult((status) -> {
				payments.produceSync(Message.of(topic, "outer"));
				assertThatExceptionOfType(CannotCreateTransactionException.class)
					.isThrownBy(() -> inner.executeWithoutResult((nested) -> payments.produceSync(Message.of(topic, "inner"))))
					.withMessageContaining("one producer runs one transaction at a time");
				payments.produceSync(Message.of(topic, "outer again"));
			});

			assertThat(TopicReader.read(topic, 2, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("outer", "outer again");
		});
	}

	@Test
	void aParticipatingKafkaTransactionMarkedRollbackOnlyAbortsKafkaWhileTheDatabaseCommits() {
		String topic = TopicReader.uniqueTopic("rollback-only");
		this.runner.run((context) -> {
			TransactionTemplate database = new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
			TransactionTemplate kafkaOnly = new TransactionTemplate(
					context.getBean("paymentsTransactionManager", PlatformTransactionManager.class));
			Producer payments = context.getBean("payments", Producer.class);
			JdbcTemplate jdbc = context.getBean(JdbcTemplate.class);
			OrderService service = context.getBean(OrderService.class);

			AtomicReference<Throwable> refusal = new AtomicReference<>();
			database.executeWithoutResult((status) -> {
				// An AFTER_COMMIT listener's work must not join the Kafka transaction about to be aborted.
				TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {

					@Override
					public void afterCommit() {
						try {
							payments.produceSync(Message.of(topic, "after commit"));
						}
						catch (RuntimeException ex) {
							refusal.set(ex);
						}
					}

				});
				jdbc.update("insert into orders (id) values (?)", "o-6");
				payments.produceSync(Message.of(topic, "o-6 placed"));
				kafkaOnly.executeWithoutResult((participating) -> participating.setRollbackOnly());
			});
			payments.produceSync(Message.of(topic, "after"));

			assertThat(refusal.get()).isInstanceOf(IllegalStateException.class);
			assertThat(service.count("o-6")).isOne();
			assertThat(TopicReader.read(topic, 1, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("after");
		});
	}

	/**
	 * What an {@code afterCompletion} that runs before the Kafka abort (an {@code AFTER_ROLLBACK} event
	 * listener, say) produces must not join the Kafka transaction about to be aborted, to be acknowledged and
	 * then rolled back unseen: the producer refuses it, and a pool gives it another member.
	 */
	@Test
	void workAfterARollbackDoesNotJoinTheKafkaTransactionAboutToBeAborted() {
		String topic = TopicReader.uniqueTopic("after-rollback");
		this.runner.run((context) -> {
			Producer payments = context.getBean("payments", Producer.class);
			AtomicReference<Throwable> refusal = new AtomicReference<>();
			context.getBean(TransactionTemplate.class).executeWithoutResult((status) -> {
				TransactionSynchronizationManager.registerSynchronization(
						afterCompletion(() -> payments.produceSync(Message.of(topic, "after the rollback")), refusal));
				payments.produceSync(Message.of(topic, "doomed"));
				status.setRollbackOnly();
			});

			assertThat(refusal.get()).isInstanceOf(IllegalStateException.class)
				.hasMessageContaining("rolled back and it is about to be aborted");
			assertThat(payments.inTransaction()).isFalse();
			payments.produceSync(Message.of(topic, "later"));
			assertThat(TopicReader.read(topic, 1, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("later");
		});
		String pooledTopic = TopicReader.uniqueTopic("pooled-after-rollback");
		pooled().run((context) -> {
			TransactionalPool pool = context.getBean("ledger", TransactionalPool.class);
			AtomicReference<Throwable> failure = new AtomicReference<>();
			context.getBean(TransactionTemplate.class).executeWithoutResult((status) -> {
				TransactionSynchronizationManager.registerSynchronization(afterCompletion(
						() -> pool.produceSync(Message.of(pooledTopic, "after the rollback")), failure));
				pool.produceSync(Message.of(pooledTopic, "doomed"));
				status.setRollbackOnly();
			});

			assertThat(failure.get()).isNull();
			assertThat(pool.available()).isEqualTo(2);
			assertThat(TopicReader.read(pooledTopic, 1, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("after the rollback");
		});
	}

	/** Runs {@code work} after the transaction completes, before the Kafka synchronization; records a failure. */
	private static TransactionSynchronization afterCompletion(Runnable work, AtomicReference<Throwable> failure) {
		return new TransactionSynchronization() {

			@Override
			public void afterCompletion(int status) {
				try {
					work.run();
				}
				catch (RuntimeException ex) {
					failure.set(ex);
				}
			}

		};
	}

	/** As spring-kafka binds a cached producer to the Spring transaction until it completes. */
	@Test
	void aPoolMemberJoinedToASpringTransactionStaysWithItUntilItCompletes() {
		String topic = TopicReader.uniqueTopic("pooled");
		pooled().run((context) -> {
			TransactionalPool pool = context.getBean("ledger", TransactionalPool.class);
			context.getBean(TransactionTemplate.class).executeWithoutResult((status) -> {
				pool.produceSync(Message.of(topic, "a"));
				assertThat(pool.available()).isOne();
				pool.produceSync(Message.of(topic, "b")); // joins the same Kafka transaction
				assertThat(pool.available()).isOne();
			});
			assertThat(pool.available()).isEqualTo(2);
			assertThat(TopicReader.read(topic, 2, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("a", "b");
		});
	}

	/**
	 * {@code KafkaTemplate} gives a {@code REQUIRES_NEW} scope a Kafka transaction of its own; one producer
	 * cannot while the outer one is open, so it refuses rather than tie the inner work to the outer outcome.
	 */
	@Test
	void whatAnInnerScopeThatSuspendsTheTransactionProducesOnItsProducerIsRefusedNotJoined() {
		String topic = TopicReader.uniqueTopic("suspended");
		this.runner.run((context) -> {
			Producer payments = context.getBean("payments", Producer.class);
			PlatformTransactionManager database = context.getBean(PlatformTransactionManager.class);
			TransactionTemplate requiresNew = new TransactionTemplate(database);
			requiresNew.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);
			TransactionTemplate notSupported = new TransactionTemplate(database);
			notSupported.setPropagationBehavior(TransactionDefinition.PROPAGATION_NOT_SUPPORTED);

			new TransactionTemplate(database).executeWithoutResult((status) -> {
				payments.produceSync(Message.of(topic, "outer"));
				assertThatExceptionOfType(IllegalStateException.class)
					.isThrownBy(() -> requiresNew.executeWithoutResult(
							(inner) -> payments.produceSync(Message.of(topic, "requires new"))))
					.withMessageContaining("has a suspended transaction open on this thread");
				assertThatExceptionOfType(IllegalStateException.class)
					.isThrownBy(() -> notSupported.executeWithoutResult(
							(inner) -> payments.produceSync(Message.of(topic, "not supported"))));
				payments.produceSync(Message.of(topic, "outer again")); // resumed: joins it again
				status.setRollbackOnly();
			});
			payments.produceSync(Message.of(topic, "after"));

			assertThat(payments.inTransaction()).isFalse();
			assertThat(TopicReader.read(topic, 1, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("after");
		});
	}

	@Test
	void aNotSupportedScopeInsideTheKafkaTransactionManagersTransactionSuspendsIt() {
		String topic = TopicReader.uniqueTopic("kafka-suspended");
		this.runner.run((context) -> {
			PlatformTransactionManager kafkaOnly = context.getBean("paymentsTransactionManager",
					PlatformTransactionManager.class);
			Producer payments = context.getBean("payments", Producer.class);
			TransactionTemplate notSupported = new TransactionTemplate(kafkaOnly);
			notSupported.setPropagationBehavior(TransactionDefinition.PROPAGATION_NOT_SUPPORTED);

			new TransactionTemplate(kafkaOnly).executeWithoutResult((status) -> {
				payments.produceSync(Message.of(topic, "outer"));
				assertThatExceptionOfType(IllegalStateException.class).isThrownBy(() -> notSupported
					.executeWithoutResult((inner) -> payments.produceSync(Message.of(topic, "not supported"))));
				payments.produceSync(Message.of(topic, "outer again"));
			});

			assertThat(TopicReader.read(topic, 2, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("outer", "outer again");
		});
	}

	@Test
	void aNotSupportedScopeOfTheKafkaTransactionManagerInsideADatabaseTransactionSuspendsTheJoinedOne() {
		String topic = TopicReader.uniqueTopic("joined-suspended");
		this.runner.run((context) -> {
			Producer payments = context.getBean("payments", Producer.class);
			TransactionTemplate notSupported = new TransactionTemplate(
					context.getBean("paymentsTransactionManager", PlatformTransactionManager.class));
			notSupported.setPropagationBehavior(TransactionDefinition.PROPAGATION_NOT_SUPPORTED);

			TransactionTemplate database = new TransactionTemplate(context.getBean(PlatformTransactionManager.class));
			database.executeWithoutResult((status) -> {
				payments.produceSync(Message.of(topic, "outer"));
				assertThatExceptionOfType(IllegalStateException.class).isThrownBy(() -> notSupported
					.executeWithoutResult((inner) -> payments.produceSync(Message.of(topic, "not supported"))))
					.withMessageContaining("has a suspended transaction open on this thread");
				payments.produceSync(Message.of(topic, "outer again"));
			});

			assertThat(TopicReader.read(topic, 2, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("outer", "outer again");
		});
	}

	/** As spring-kafka takes another cached producer for the {@code REQUIRES_NEW} scope. */
	@Test
	void anInnerRequiresNewScopeTakesAnotherPoolMemberWhoseTransactionCommitsWithIt() {
		String topic = TopicReader.uniqueTopic("pooled-requires-new");
		pooled().run((context) -> {
			TransactionalPool pool = context.getBean("ledger", TransactionalPool.class);
			PlatformTransactionManager database = context.getBean(PlatformTransactionManager.class);
			TransactionTemplate requiresNew = new TransactionTemplate(database);
			requiresNew.setPropagationBehavior(TransactionDefinition.PROPAGATION_REQUIRES_NEW);

			context.getBean(TransactionTemplate.class).executeWithoutResult((status) -> {
				pool.produceSync(Message.of(topic, "outer"));
				requiresNew.executeWithoutResult((inner) -> {
					pool.produceSync(Message.of(topic, "inner"));
					assertThat(pool.available()).isZero();
				});
				assertThat(pool.available()).isOne();
				pool.produceSync(Message.of(topic, "outer again")); // on the outer scope's member again
				assertThat(pool.available()).isOne();
				status.setRollbackOnly();
			});

			assertThat(pool.available()).isEqualTo(2);
			assertThat(TopicReader.read(topic, 1, READ_COMMITTED, new ByteArrayDeserializer()))
				.extracting((record) -> text(record.value()))
				.containsExactly("inner");
		});
	}

	@Test
	void onlyTransactionalProducersGetATransactionManager() {
		this.runner.withPropertyValues("waterdrop.producers.audit.kafka.acks=all").run((context) -> {
			assertThat(context).hasBean("paymentsTransactionManager");
			assertThat(context).doesNotHaveBean("auditTransactionManager");
		});
	}

	@Test
	void theDefaultProducerGetsOneWhenWaterDropKafkaMakesItTransactional() {
		ApplicationContextRunner plain = new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class))
			.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers());
		plain.withPropertyValues("waterdrop.kafka.transactional.id=default-" + UUID.randomUUID())
			.run((context) -> assertThat(context.getBean("waterdropProducerTransactionManager",
					WaterDropTransactionManager.class)
				.getProducer()).isSameAs(context.getBean("waterdropProducer")));
		plain.run((context) -> assertThat(context).doesNotHaveBean("waterdropProducerTransactionManager"));
	}

	/** Every form and layer the producer reads its transactional.id from gives it its transaction manager. */
	@ParameterizedTest
	@ValueSource(strings = { "waterdrop.kafka[transactional.id]", "spring.kafka.producer.properties.transactional.id",
			"spring.kafka.properties.transactional.id" })
	void theDefaultProducerGetsOneWhereverItsTransactionalIdIsSet(String property) {
		new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class))
			.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
					property + "=default-" + UUID.randomUUID())
			.run((context) -> {
				assertThat(context.getBean("waterdropProducer", Producer.class).transactional()).isTrue();
				assertThat(context.getBean("waterdropProducerTransactionManager", WaterDropTransactionManager.class)
					.getProducer()).isSameAs(context.getBean("waterdropProducer"));
			});
	}

	/** Boot's JDBC transactions and a transactional pool of two members, {@code ledger}. */
	private static ApplicationContextRunner pooled() {
		return new ApplicationContextRunner()
			.withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
					DataSourceTransactionManagerAutoConfiguration.class, TransactionAutoConfiguration.class,
					KafkaAutoConfiguration.class, WaterDropAutoConfiguration.class,
					WaterDropLifecycleAutoConfiguration.class))
			.withPropertyValues("spring.kafka.bootstrap-servers=" + TestBroker.bootstrapServers(),
					"spring.datasource.generate-unique-name=true",
					"waterdrop.producers.ledger.kafka.transactional.id=ledger-" + UUID.randomUUID(),
					"waterdrop.producers.ledger.pool-size=2");
	}

	private static String text(byte[] value) {
		return new String(value, StandardCharsets.UTF_8);
	}

	@Configuration(proxyBeanMethods = false)
	static class Orders {

		@Bean
		OrderService orderService(JdbcTemplate jdbc, @Qualifier("payments") Producer payments) {
			jdbc.execute("create table if not exists orders (id varchar(20) primary key)");
			return new OrderService(jdbc, payments);
		}

		@Bean
		KafkaOnly kafkaOnly(@Qualifier("payments") Producer payments) {
			return new KafkaOnly(payments);
		}

	}

	static class OrderService {

		private final List<String> steps = new CopyOnWriteArrayList<>();

		private final JdbcTemplate jdbc;

		private final Producer payments;

		OrderService(JdbcTemplate jdbc, Producer payments) {
			this.jdbc = jdbc;
			this.payments = payments;
		}

		@Transactional
		public void place(String topic, String id, boolean fail) {
			TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {

				@Override
				public int getOrder() {
					return Ordered.HIGHEST_PRECEDENCE;
				}

				@Override
				public void afterCommit() {
					OrderService.this.steps.add("database committed");
				}

			});
			this.jdbc.update("insert into orders (id) values (?)", id);
			this.steps.add("row inserted");
			this.payments.produceSync(Message.of(topic, id + " placed"));
			this.payments.produceAsync(Message.of(topic, id + " invoiced"));
			if (this.payments.inTransaction()) {
				this.steps.add("kafka transaction open");
			}
			if (fail) {
				throw new IllegalStateException("payment declined (simulated)");
			}
		}

		@Transactional
		public void placeAndNotify(String topic, String id) {
			this.jdbc.update("insert into orders (id) values (?)", id);
			this.payments.produceSync(Message.of(topic, id + " placed"));
			this.payments.produceSync(Message.of(topic, id + " invoiced"));
			notifyCustomer(topic, id);
		}

		@Transactional("paymentsTransactionManager")
		public void notifyCustomer(String topic, String id) {
			this.payments.produceSync(Message.of(topic, id + " notified"));
		}

		public List<String> steps() {
			return this.steps;
		}

		public int count(String id) {
			return this.jdbc.queryForObject("select count(*) from orders where id = ?", Integer.class, id);
		}

	}

	static class KafkaOnly {

		private final Producer payments;

		KafkaOnly(Producer payments) {
			this.payments = payments;
		}

		@Transactional("paymentsTransactionManager")
		public void send(String topic, String... payloads) {
			for (String payload : payloads) {
				this.payments.produceAsync(Message.of(topic, payload));
			}
		}

		@Transactional("paymentsTransactionManager")
		public void sendThenFail(String topic, String payload) {
			this.payments.produceSync(Message.of(topic, payload));
			throw new IllegalArgumentException("no (simulated)");
		}

	}

}
