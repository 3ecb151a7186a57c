package io.waterdrop.sample;

/**
 * An order as the JSON endpoint takes it ({@link OrdersController}) and Kafka carries it: written as JSON by
 * the starter's default serializer on the application's {@code JsonMapper}, with the {@code __TypeId__}
 * header that lets spring-kafka's JSON deserializer read it back as an {@code Order} ({@link OrderListener}).
 *
 * @param id the order's id, also the record key
 * @param item what was ordered
 * @param quantity how many; {@code null} when the request left it out (refused with the field named, not as
 * unreadable JSON)
 */
public record Order(String id, String item, Integer quantity) {

}
